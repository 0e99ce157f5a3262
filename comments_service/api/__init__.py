"""HTTP controllers. They parse, call the service layer, and let errors map to problems."""

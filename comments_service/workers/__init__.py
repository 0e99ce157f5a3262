"""Background processes: the scoring worker (`comments-service worker`)."""

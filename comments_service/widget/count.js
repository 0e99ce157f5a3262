/* count script: filled in by the widget work */

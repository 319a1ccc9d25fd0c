// Placeholder for the embeddable chat widget (replaced by the widget implementation).

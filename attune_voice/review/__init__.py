"""What a session looked like: metrics, text, data, HTML, PNG, history, analysis."""

"""Reports: terminal tables now; HTML, Markdown and plots build on the same summary."""

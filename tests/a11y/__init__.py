"""Accessibility test harnesses: a pty + pyte screen, and the Fenrir screen reader headless."""

"""The Streamlit dashboard: pages per role, reading only published views."""

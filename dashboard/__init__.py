"""User interfaces of streetsafe: the command line and the Streamlit dashboard."""

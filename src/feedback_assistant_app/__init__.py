"""The Streamlit front end of feedback-assistant: session state, cached resources and small shared widgets.

Everything here connects widgets to core calls (``feedback_assistant.*``); no analysis happens here.
"""

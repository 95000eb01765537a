"""The Streamlit dashboard: the only package of inferlab that imports streamlit.

The launcher (`python -m inferlab.dashboard`), background jobs
(:mod:`~inferlab.dashboard.jobs`), widgets (:mod:`~inferlab.dashboard.widgets`),
URL parameters (:mod:`~inferlab.dashboard.params`) and one state module per page.
Importing this package does not import streamlit; only the modules that draw do.
"""

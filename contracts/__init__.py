"""Vocabulary and message models shared by the domain, the workflows and the activities.

Plain pydantic only: nothing here touches Temporal or the event store, so the workflow sandbox
and the domain can both import it.
"""

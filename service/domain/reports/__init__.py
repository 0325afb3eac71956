"""Public reports of deal points (measure 16): the form's checks, where a report is, its triage."""

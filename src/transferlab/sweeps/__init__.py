"""Sweeps that finish and resume: every job checked before the first starts (precheck), each job's
outcome recorded without stopping the sweep (job_status, sweep_job), finished configs skipped on a
re-run (resume), and a summary table at the end (summary)."""

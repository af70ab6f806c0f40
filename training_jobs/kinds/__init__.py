"""The kinds of training job, one module each (character, unified); training_jobs.job_kinds is their registry."""

"""The kinds of training job, one module each (character, unified) with its API schemas beside it (character_schemas,
unified_schemas); training_jobs.job_kinds is their registry."""

"""The LLM gateway: the one place the studio calls litellm. Use `studio.llm.gateway`."""

"""clinsynth service: settings, the generation agent, storage, API and CLI."""

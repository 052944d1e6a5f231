"""The application without widgets: session, journeys, central client, documents, i18n, config, CLI."""

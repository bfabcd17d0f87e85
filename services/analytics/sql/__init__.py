"""All the analytics service's SQL, one module per group of tables (migrations/)."""

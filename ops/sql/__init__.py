"""The ops commands' SQL: their own schema (`ops`), and reads across the services' schemas."""

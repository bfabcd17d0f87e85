CREATE TABLE spend (
    customer_id  text PRIMARY KEY,
    total        numeric(18, 2) NOT NULL,
    transactions integer NOT NULL
);

-- What the Fineract adapter keeps to turn external events into core-banking events.

-- Clients seen active: onboarded once (customer.onboarded), closed once if configured.
CREATE TABLE clients (
    client_id   bigint PRIMARY KEY,
    customer_id text NOT NULL,
    included    boolean NOT NULL,        -- false: an office the settings leave out
    onboarded_at timestamptz,
    closed_at   timestamptz
);

-- Savings accounts of clients (group accounts are not kept), in the configured currency.
CREATE TABLE savings_accounts (
    account_id bigint PRIMARY KEY,
    client_id  bigint NOT NULL,
    currency   text NOT NULL,
    closed_on  date
);
CREATE INDEX savings_accounts_client ON savings_accounts (client_id);

-- Each account's balance at the end of each day with a movement: the last one Fineract
-- reported for that day (by the event's creation time, then the transaction id).
CREATE TABLE day_ends (
    account_id bigint NOT NULL,
    day        date NOT NULL,
    balance    numeric(28, 8) NOT NULL,
    as_of      timestamptz NOT NULL,
    seq        bigint NOT NULL,
    PRIMARY KEY (account_id, day)
);
CREATE INDEX day_ends_day ON day_ends (day);

-- Months whose snapshots were published (once per customer and month).
CREATE TABLE closed_months (
    month     text PRIMARY KEY CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    customers integer NOT NULL,
    closed_at timestamptz NOT NULL DEFAULT now()
);

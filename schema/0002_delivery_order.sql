-- Delivery order (lib/outbox.c): a sink receives the events of one dedupe
-- key or one resource in order, so a later event waits while an earlier one
-- for the same sink is still pending.  These indexes make that check and
-- the per-sink scan of pending deliveries cheap.
CREATE INDEX events_resource ON events (resource_key, seq) WHERE resource_key IS NOT NULL;
CREATE INDEX deliveries_sink ON deliveries (sink, state, event_seq, next_attempt_at);

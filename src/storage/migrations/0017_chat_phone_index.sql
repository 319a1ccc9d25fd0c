-- A customer's timeline lists their web-chat sessions (SPEC §5: calls, tickets, chats): the
-- sessions whose visitor gave one of the customer's numbers. `phone_key` is the same lookup key
-- customer phones are stored under (customer_phones.match_key); only chat offers are indexed.
CREATE INDEX events_chat_phone ON events (json_extract(data, '$.phone_key'), at_ms)
    WHERE kind = 'call.offered' AND json_extract(data, '$.channel') = 'chat';

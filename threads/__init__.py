"""The machinery of a live, ordered conversation thread, shared by the chat (buyer–store
conversations) and support tickets (a requester and marketplace staff): input checks, gapless
sequence numbers assigned under the thread's row lock, idempotent retries by client message id,
history by anchors, read pointers, typing, and private image attachments.

Not a Django app and no models: each app keeps its own tables (``chat.Conversation`` /
``chat.Message``, ``support.Ticket`` / ``support.TicketMessage``), with the fields this package
works on (a thread's ``last_seq`` and ``last_message_at``; a message's ``seq``, ``sender``,
``client_msg_id``, ``created_at``), and its own topic, events and permissions. Why shared
functions rather than one table for both: docs/architecture.md, "Support tickets".
"""

"""Transactional outbox: webhooks delivered at least once, applied once by the receiver.

A domain that must tell another system something calls ``service.enqueue`` inside its own
transaction, so the message exists exactly when the change that caused it is committed (no
"saved but never sent", no "sent but rolled back"). ``govshare worker`` claims due messages
(``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, under a lease on both backends), POSTs
them signed by Standard Webhooks (``webhook-id`` is the idempotency key) to public https
addresses only, and records each attempt. Failures are retried with exponential backoff;
what cannot be delivered becomes a dead letter that staff can requeue. A producer withdraws
a destination (``service.withdraw_destination``) and nothing more is sent to it.

Delivery is at least once: a worker killed after the receiver applied a message but before it
recorded the answer sends it again after the lease. Receivers apply each idempotency key once
(``receiver`` is a reference implementation, also used by the tests).

Imports only ``govshare.core``. Public API: ``service`` (enqueue, claim_batch, record_result,
requeue, withdraw_destination, purge_bodies, ...), ``queries`` (delivery status), ``calc``
(backoff, dead-letter rules, signatures and secrets, allowed destinations: pure), ``worker``
(the loop), ``receiver`` (a test/demo receiver).
"""

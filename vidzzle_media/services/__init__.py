"""Business logic: accounts, calls, presence, outbox (mail, SMS, webhooks), branding."""

"""Notifications 通知: who hears of what (routing), delivery of the outbox (dispatch), deadlines and
their reminders, and the notifier channels (e-mail, webhooks, 钉钉, 企业微信)."""

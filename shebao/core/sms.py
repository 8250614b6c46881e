"""SMS sending behind a small gateway interface.

`send_sms` records the message in the outbox table and, once the transaction commits, a task
hands it to the configured gateway (setting SHEBAO_SMS_GATEWAY). The built-in OutboxGateway
delivers nowhere: the message stays in the outbox, which the dev console lists. A real provider
is a class with the same `deliver` method (see README, "短信通道")."""

from typing import Protocol

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string
from django_tasks import task

from shebao.core.models import SmsMessage


class SmsGateway(Protocol):
    def deliver(self, mobile: str, text: str) -> None:
        """Send one message or raise; called from the task worker."""


class OutboxGateway:
    """Keeps messages in the outbox table only (development and demo)."""

    def deliver(self, mobile: str, text: str) -> None:
        return None


def get_gateway() -> SmsGateway:
    return import_string(settings.SHEBAO_SMS_GATEWAY)()


def send_sms(*, mobile: str, text: str, purpose: str = "") -> SmsMessage:
    message = SmsMessage.objects.create(
        mobile=mobile, text=text, purpose=purpose, gateway=settings.SHEBAO_SMS_GATEWAY
    )
    transaction.on_commit(lambda: deliver_sms.enqueue(message_id=message.pk))
    return message


@task()
def deliver_sms(message_id: int) -> None:
    message = SmsMessage.objects.get(pk=message_id)
    if message.delivered:
        return
    get_gateway().deliver(message.mobile, message.text)
    SmsMessage.objects.filter(pk=message_id).update(delivered=True)

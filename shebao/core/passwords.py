"""Password policy: at least 8 characters, 3 of 4 character classes, not the account name
(`check_password_policy`, our AUTH_PASSWORD_VALIDATORS entry); `validate_new_password` adds the
other validators of that setting (Django's common-password list and similarity to the
account's names), and is what every path that sets a password calls."""

import string

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import get_default_password_validators
from django.core.exceptions import ValidationError

MIN_LENGTH = 8


def character_classes(password: str) -> int:
    return sum(
        [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(c in string.punctuation or c == " " for c in password),
        ]
    )


def account_names(user) -> list[str]:
    if user is None:
        return []
    names = [user.username, getattr(user, "operator_account", "")]
    person = getattr(user, "person", None) if getattr(user, "person_id", None) else None
    if person is not None:
        names.append(person.id_number)
    return [n.lower() for n in names if n and len(n) >= 3]


def check_password_policy(password: str, *, account_name: str = "", user=None) -> None:
    errors = []
    if len(password) < MIN_LENGTH:
        errors.append(f"密码至少 {MIN_LENGTH} 位")
    if character_classes(password) < 3:
        errors.append("密码须包含大写字母、小写字母、数字、符号中的至少三类")
    names = account_names(user)
    if account_name and len(account_name) >= 3:
        names.append(account_name.lower())
    if any(name in password.lower() for name in names):
        errors.append("密码不能包含账号名")
    if errors:
        raise ValidationError(errors, code="password_policy")


class PasswordPolicyValidator:
    """AUTH_PASSWORD_VALIDATORS entry, so Django's own password tools follow the same policy."""

    def validate(self, password, user=None):
        check_password_policy(password, user=user)

    def get_help_text(self):
        return "密码至少 8 位，包含大写字母、小写字母、数字、符号中的至少三类，且不能包含账号名。"


# Django's validators speak of "这个密码太常见了。" and "密码与%(verbose_name)s太相似。" (a model
# field's verbose name): the user reads ours, by the validator's error code.
VALIDATOR_MESSAGES = {
    "password_too_common": "这个密码太常见，容易被猜到，请换一个",
    "password_too_similar": "密码与%(verbose_name)s太相似，容易被猜到，请换一个",
    "password_too_short": f"密码至少 {MIN_LENGTH} 位",
    "password_entirely_numeric": "密码不能全是数字",
}


def _our_words(error: ValidationError) -> list[str]:
    words = []
    for e in error.error_list:
        if e.code in VALIDATOR_MESSAGES:
            params = dict(e.params or {})
            # Django's "用户名" is what the user knows as their account (账号)
            if str(params.get("verbose_name", "")) == "用户名":
                params["verbose_name"] = "账号"
            words.append(VALIDATOR_MESSAGES[e.code] % params)
        else:
            words.extend(e.messages)
    return words


def validate_new_password(
    password: str, *, account_name: str = "", display_name: str = "", user=None
) -> None:
    """Every rule of AUTH_PASSWORD_VALIDATORS, with all their Chinese messages at once. A new
    account has no user yet: an unsaved one with its account name and display name stands in
    (so the similarity check sees both)."""
    errors = []
    try:
        check_password_policy(password, account_name=account_name, user=user)
    except ValidationError as e:
        errors.extend(e.messages)
    subject = user
    if subject is None and (account_name or display_name):
        subject = get_user_model()(username=account_name, display_name=display_name)
    for validator in get_default_password_validators():
        if isinstance(validator, PasswordPolicyValidator):
            continue
        try:
            validator.validate(password, subject)
        except ValidationError as e:
            errors.extend(_our_words(e))
    if errors:
        raise ValidationError(errors, code="password_policy")

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Departments and members"

    def ready(self) -> None:
        from accounts import audit_signals  # noqa: F401  (connects the login/logout receivers)

"""Attaches the session's active department to the request (lazily, only when a view asks)."""

from django.utils.functional import SimpleLazyObject

from accounts.departments import active_department


class ActiveDepartmentMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.department = SimpleLazyObject(lambda: active_department(request))
        return self.get_response(request)

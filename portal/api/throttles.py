"""Per-action throttle scopes (upload, job_create, download); rates come from settings (environment)."""

from rest_framework.throttling import ScopedRateThrottle


class ActionScopedRateThrottle(ScopedRateThrottle):
    """ScopedRateThrottle whose scope depends on the view action: `view.throttle_scopes = {"create": "upload"}`.

    Actions without a scope are not throttled.
    """

    def allow_request(self, request, view) -> bool:
        self.scope = getattr(view, "throttle_scopes", {}).get(getattr(view, "action", None))
        if not self.scope:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super(ScopedRateThrottle, self).allow_request(request, view)

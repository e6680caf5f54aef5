from simulator.core.routing import route
from simulator.monitor import responses as r

route("GET", "/subscriptions/{sub}/providers/Microsoft.Insights/eventtypes/management/values")(
    r.list_activity_logs)

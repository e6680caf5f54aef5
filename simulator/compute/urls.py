from simulator.compute import responses as r
from simulator.core.routing import route

VMSS = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachineScaleSets"
route("GET", "/subscriptions/{sub}/providers/Microsoft.Compute/virtualMachineScaleSets")(r.list_vmss)
route("GET", VMSS)(r.list_vmss)
route("GET", VMSS + "/{name}")(r.get_vmss)
route("PATCH", VMSS + "/{name}")(r.update_vmss)
route("PUT", VMSS + "/{name}")(r.put_vmss)

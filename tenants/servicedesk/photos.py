"""Photos of a repair: an image the tenant (reporter side) or the assigned
technician uploads goes through the document intake (streamed into S3,
sniffed, encrypted with the tenant's key, like every scan) and is filed in the
tenant's archive under repair records, linked to the order."""

from __future__ import annotations

from portal.core import audit
from portal.core.errors import FormErrors, Forbidden
from portal.core.roles import Perm, Principal
from tenants.registry.service import TenantRef
from tenants.scope import tenant_tx
from tenants.servicedesk.service import OPEN, event, locked
from tenants.servicedesk.tables import WorkOrderPhoto

IMAGE_KINDS = ("jpeg", "png")
MAX_PHOTOS = 12


async def add_photo(ref: TenantRef, principal: Principal, storage, order_id: int, stored) -> int:
    """File the stored upload as the order's photo; returns the document id.
    Anything refused removes the object again (nothing partial is kept)."""
    from documents import pending
    from documents.service import insert_document, make_thumbnail_later

    try:
        if stored is None:
            raise FormErrors({"photo": "Choose a photo (JPEG or PNG)."})
        if stored.kind.kind not in IMAGE_KINDS:
            raise FormErrors({"photo": "Choose a photo (JPEG or PNG)."})
        async with tenant_tx(ref.schema) as tx:
            row = await locked(tx, order_id)
            if principal.is_portal:
                if principal.tenant_id != ref.id:
                    raise Forbidden()
            elif not (principal.can(Perm.REPAIR_WORK) and row["assignee_id"] == principal.user_id):
                raise Forbidden("This repair order is assigned to someone else.")
            if row["status"] not in OPEN:
                raise FormErrors({"photo": "This step does not fit the order's current state."})
            if await WorkOrderPhoto.count().where(WorkOrderPhoto.order_id == order_id).run() >= MAX_PHOTOS:
                raise FormErrors({"photo": "This order has as many photos as it can take."})
            meta = {"category": "repairs", "title": f"{row['number']} 照片", "confidentiality": "internal",
                    "visible_to_tenant": True}
            source = "portal_upload" if principal.is_portal else "staff_upload"
            doc_id, version_id = await insert_document(meta, stored, source=source, status="filed",
                                                       by_kind=principal.kind, by_id=principal.user_id,
                                                       by_name=principal.name)
            await WorkOrderPhoto.insert(WorkOrderPhoto(order_id=order_id, document_id=doc_id,
                                                       added_by=principal.name)).run()
            await event(order_id, "photo", principal)
            await audit.record("repair.photo", principal=principal, tenant_id=ref.id, target=f"document:{doc_id}",
                               detail={"number": row["number"]})
            make_thumbnail_later(ref.id, version_id)
    except BaseException:
        if stored is not None:
            await storage.aremove(stored.key, stored.version_id)
            await pending.forget(stored.key)
        raise
    return doc_id

"""What each audit action reads as: one table per area of the product.

**A new audit kind** (an action a writer passes to the audit log): add
``"area.what": N_("Did what")`` to its area's table below (the English is the message id; its
Chinese goes in the area's ``portal/locale/zh/<area>.po``). **A new area**: a
new table, added to ``AUDIT_SENTENCES``, and its fallback sentence in
``AUDIT_AREAS``. ``tests/unit/test_events.py`` finds every kind the code writes
and fails when one has no sentence here.
"""

from __future__ import annotations

from portal.core.i18n import N_

# Sign-in and sign-out, security refusals, one's own account, staff accounts, portal invitations.
ACCOUNTS = {
    "staff.login": N_("Signed in to the staff console"),
    "portal.login": N_("Signed in to the tenant portal"),
    "staff.logout": N_("Signed out of the staff console"),
    "portal.logout": N_("Signed out of the tenant portal"),
    "security.refused": N_("Was refused a page"),
    "security.csrf_refused": N_("Sent a form that failed the security check"),
    "account.password_change": N_("Changed their password"),
    "staff.create": N_("Created a staff account"),
    "staff.update": N_("Changed a staff account"),
    "staff.enable": N_("Enabled a staff account"),
    "staff.disable": N_("Disabled a staff account"),
    "staff.password_reset": N_("Reset a staff member's password"),
    "portal.invite": N_("Invited a portal user"),
    "portal.invite.accept": N_("Accepted a portal invitation"),
}

# The tenant file: registry, company details, contacts, change requests, reconcile.
TENANT_FILES = {
    "tenant.create": N_("Created a tenant file"),
    "tenant.view": N_("Opened a tenant file"),
    "tenant.update": N_("Changed company details"),
    "tenant.link": N_("Linked two files of the same company"),
    "tenant.contact.save": N_("Saved a contact"),
    "tenant.contact.active": N_("Removed or restored a contact"),
    "tenant.activate": N_("Reactivated a tenant file"),
    "tenant.deactivate": N_("Deactivated a tenant file"),
    "tenant.request.submit": N_("Submitted a change request"),
    "tenant.request.approved": N_("Approved a change request"),
    "tenant.request.rejected": N_("Rejected a change request"),
    # Written by the approval engine (tenants.file.service.REQUEST_FLOW); the two above are older rows.
    "tenant.request.approve": N_("Approved a change request"),
    "tenant.request.reject": N_("Rejected a change request"),
    "tenant.request.withdrawn": N_("Withdrew a change request"),
    "tenancy.reconcile": N_("Reconciled tenant schemas"),
}

# Documents and exports.
DOCUMENTS = {
    "document.upload": N_("Uploaded a document"),
    "document.version": N_("Uploaded a new version of a document"),
    "document.update": N_("Changed a document's details"),
    "document.view": N_("Opened a document"),
    "document.download": N_("Downloaded a document"),
    "document.preview": N_("Previewed a document"),
    "document.request": N_("Asked the tenant for a document"),
    "document.portal_upload": N_("Uploaded a document for review"),
    "document.upload.accepted": N_("Accepted an uploaded document"),
    "document.upload.rejected": N_("Rejected an uploaded document"),
    "document.generated": N_("Filed a generated notice"),
    "document.catalog": N_("Opened a document catalogue"),
    "document.catalog.print": N_("Printed a document catalogue"),
    "export.create": N_("Prepared an export"),
    "export.download": N_("Downloaded an export"),
    "export.deleted": N_("Deleted an export"),
}

# File loans (the approval engine writes ``loan.*`` and ``loan.outside.*``).
LENDING = {
    "loan.request": N_("Asked to borrow files"),
    "loan.approve": N_("Approved a file loan"),
    "loan.reject": N_("Refused a file loan"),
    "loan.outside.approve": N_("Approved access to a file outside the requester's buildings"),
    "loan.outside.reject": N_("Refused access to a file outside the requester's buildings"),
    # Written before lending moved onto the approval engine: older audit rows still read as sentences.
    "loan.approve.approved": N_("Approved a file loan"),
    "loan.approve.lent": N_("Gave the final approval for a file loan"),
    "loan.refuse": N_("Refused a file loan"),
    "loan.out": N_("Handed out borrowed files"),
    "loan.return": N_("Took borrowed files back"),
    "loan.grant.withdrawn": N_("Withdrew access to borrowed files"),
    "loan.reminder.due_soon": N_("Reminded a borrower that files are due soon"),
    "loan.reminder.overdue": N_("Reminded a borrower that files are overdue"),
}

# Charges, payments, deposits, notices and billing.
MONEY = {
    "money.view": N_("Opened a tenant's charges and payments"),
    "money.payment.record": N_("Recorded a payment"),
    "money.payment.reverse": N_("Reversed a payment"),
    "money.credit.allocate": N_("Applied credit to open charges"),
    "money.charge.manual": N_("Added a charge"),
    "money.charge.adjust": N_("Adjusted a charge"),
    "money.deposit.receive": N_("Received a deposit"),
    "money.deposit.deduction.request": N_("Asked for a deposit deduction"),
    "money.deposit.refund.request": N_("Asked for a deposit refund"),
    "money.deposit.deduction.approve": N_("Approved a deposit deduction"),
    "money.deposit.refund.approve": N_("Approved a deposit refund"),
    "money.deposit.deduction.reject": N_("Refused a deposit deduction"),
    "money.deposit.refund.reject": N_("Refused a deposit refund"),
    "money.notice.issue": N_("Issued a notice"),
    "money.notice.download": N_("Downloaded a notice"),
    "money.notice_batch.create": N_("Started a batch of notices"),
    "money.notice_batch.cancel": N_("Cancelled a batch of notices"),
    "money.notice_batch.resume": N_("Resumed a batch of notices"),
    "money.notice.resend": N_("Sent a notice's e-mail again"),
    "money.notice_batch.resend": N_("Sent the batch's undelivered e-mails again"),
    "money.fee_item.save": N_("Saved a fee item"),
    "money.billing.start": N_("Started a billing run"),
    "money.credit.grant": N_("Granted a credit (a complaint's discount or compensation)"),
}

# The office calendar, the audit log itself and the demo data.
OFFICE = {
    "calendar.day.add": N_("Added a day to the office calendar"),
    "calendar.day.remove": N_("Removed a day from the office calendar"),
    "audit.export": N_("Downloaded the audit log"),
    "demo.load": N_("Loaded the demo data"),
}

# Repairs: reporting, dispatch, the technician's steps, confirmation, escalation.
REPAIRS = {
    "repair.report": N_("Reported a repair"),
    "repair.accept": N_("Accepted a repair order"),
    "repair.decline": N_("Declined a repair order"),
    "repair.complete": N_("Completed a repair"),
    "repair.confirm": N_("Confirmed a completed repair"),
    "repair.auto_close": N_("Closed a repair nobody confirmed in time"),
    "repair.reopen": N_("Reopened a repair"),
    "repair.cancel": N_("Cancelled a repair order"),
    "repair.unassigned": N_("Found no technician for a repair: it waits for a dispatcher"),
    "repair.timeout": N_("Passed a repair order on: it was not accepted in time"),
    "repair.assign": N_("Assigned a repair order by hand"),
    "repair.page": N_("Paged an on-duty technician about an urgent repair"),
    "repair.escalate.dept_head": N_("Warned the department head: a repair is about to miss its deadline"),
    "repair.escalate.supervisor": N_("Told the supervisor: a repair missed its deadline"),
    "repair.roster": N_("Changed the technicians' roster"),
    "repair.photo": N_("Added a photo to a repair"),
    "repair.bill": N_("Approved a repair's cost as a charge to the tenant"),
}

# Complaints: the nine steps, escalation, the card.
COMPLAINTS = {
    # Complaints (tenants/complaints): lodging, the engine's decisions of the nine steps, escalation, the card.
    "complaint.lodge": N_("Recorded a complaint"),
    "complaint.approve": N_("Completed a step of a complaint"),
    "complaint.reject": N_("Found that a complaint does not stand and replied"),
    "complaint.send_back": N_("Sent a complaint back to an earlier step"),
    "complaint.grade": N_("Changed a complaint's grade"),
    "complaint.escalate": N_("Escalated an overdue complaint"),
    "complaint.card": N_("Filed a complaint card"),
}

# Satisfaction surveys: preparing, sending, answering, the report and its approval.
SURVEYS = {
    # Satisfaction surveys (tenants/surveys).
    "survey.create": N_("Prepared a satisfaction survey"),
    "survey.open": N_("Opened a satisfaction survey and invited the tenants"),
    "survey.remind": N_("Reminded tenants to answer a satisfaction survey"),
    "survey.close": N_("Closed a satisfaction survey"),
    "survey.answer": N_("Answered a satisfaction survey"),
    "survey.report.submit": N_("Submitted a survey analysis report for approval"),
    "survey.report.approve": N_("Approved a survey analysis report"),
    "survey.report.reject": N_("Sent back a survey analysis report"),
    "survey.report.print": N_("Printed a survey analysis report"),
    "survey.action.add": N_("Added a corrective action to a survey report"),
    "survey.action.done": N_("Marked a corrective action as done"),
}

# Retention: periods, dormancy and reactivation, the disposition list.
RETENTION = {
    # Retention (tenants/retention): dormancy, the restricted archive view, periods, the disposition list.
    "tenant.dormant": N_("Made a file dormant after a year without business"),
    "tenant.dormant.open": N_("Opened a dormant file in the archive"),
    "tenant.reactivate": N_("Reactivated a dormant file"),
    "retention.class.save": N_("Set a retention period"),
    "retention.class.remove": N_("Removed a document category's own retention period"),
    "retention.disposition.build": N_("Built the disposition list"),
    "retention.disposition.export": N_("Downloaded the disposition list"),
}

# Legal holds and destruction: holds, requests, decisions, the purge and its certificate.
DESTRUCTION = {
    "legal_hold.place": N_("Placed a legal hold"),
    "legal_hold.release": N_("Released a legal hold"),
    "destruction.request": N_("Asked for a destruction"),
    "destruction.approve": N_("Approved a step of a destruction"),
    "destruction.reject": N_("Rejected a destruction"),
    "destruction.cancel": N_("Cancelled a destruction"),
    "destruction.purge.start": N_("Started destroying a file after its cooling-off period"),
    "destruction.crypto_erase": N_("Destroyed a file's encryption key"),
    "destruction.done": N_("Finished a destruction and issued its certificate"),
}

# Backups: a tenant's encrypted export and its read-only restored copy.
BACKUPS = {
    "tenant.export": N_("Exported a tenant file to an encrypted archive"),
    "tenant.restore": N_("Restored a tenant file from an archive, read-only"),
}

AUDIT_SENTENCES: dict[str, str] = {**ACCOUNTS, **TENANT_FILES, **DOCUMENTS, **LENDING, **MONEY, **OFFICE, **REPAIRS, **COMPLAINTS, **SURVEYS, **RETENTION, **DESTRUCTION, **BACKUPS}
# A kind without its own sentence is described by its area (the part before the first dot).
AUDIT_AREAS = {
    "staff": N_("Did something with staff accounts"), "portal": N_("Did something in the tenant portal"),
    "security": N_("Triggered a security check"), "account": N_("Changed their account"),
    "tenant": N_("Did something with a tenant file"), "tenancy": N_("Maintained the tenant files"),
    "document": N_("Did something with a document"), "export": N_("Did something with an export"),
    "loan": N_("Did something with a file loan"), "audit": N_("Used the audit log"),
    "money": N_("Did something with charges and payments"),
    "repair": N_("Did something with a repair"),
    "complaint": N_("Did something with a complaint"),
    "retention": N_("Did something with retention"),
    "legal_hold": N_("Did something with a legal hold"), "destruction": N_("Did something with a destruction"),
}
# Choices of the audit page's filter: an action or, ending in a dot, a whole area.
AUDIT_FILTERS = {
    "staff.login": N_("Staff sign-ins"), "portal.login": N_("Portal sign-ins"), "security.": N_("Security checks"),
    "account.": N_("Own account changes"), "staff.": N_("Staff accounts and sign-ins"),
    "tenant.": N_("Tenant files"), "tenant.view": N_("Tenant files opened"), "portal.invite": N_("Portal invitations"),
    "document.": N_("Documents"), "loan.": N_("File loans"), "export.": N_("Exports"), "money.": N_("Charges and payments"),
    "audit.": N_("Audit log use"),
    "repair.": N_("Repairs"),
    "complaint.": N_("Complaints"),
    "tenant.dormant.open": N_("Dormant files opened"), "retention.": N_("Retention and disposition"),
}

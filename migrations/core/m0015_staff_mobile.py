NAME = "staff: a mobile number for the SMS/WeChat gateway"

# Urgent repairs page the technicians on duty and major complaints alert the
# managers through the notification webhook; the gateway needs their phones.
# Empty: the person is reached by e-mail only.
SQL = r"""
ALTER TABLE core.staff_user ADD COLUMN mobile text NOT NULL DEFAULT '';
"""

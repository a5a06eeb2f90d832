NAME = "repairs (reserved: the repairs branch brings the real migration)"

# Placeholder so that tenant migrations stay numbered without gaps on the
# complaints branch. On merge, the repairs branch's m0005_repairs.py replaces
# this file (take theirs).
SQL = ""

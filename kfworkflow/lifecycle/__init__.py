"""State machines (the only place that imports ``transitions``).

One ``transitions.Machine`` is built per category (milestones) and one for assignments, and
shared by every object of that kind: a subject is represented only by its state string, handed
to the machine in a throw-away cursor. A Machine per project would cost tens of KB each.
"""

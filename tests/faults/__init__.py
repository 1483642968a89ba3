"""The fault suite: real scanhook processes and loopback receivers, broken on purpose."""

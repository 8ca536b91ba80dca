# tests/guest: fragment (owned by the area's author)

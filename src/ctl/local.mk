# src/ctl: fragment (owned by the area's author)

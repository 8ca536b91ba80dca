# policy: fragment (owned by the area's author)

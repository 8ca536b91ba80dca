# docs fragment

# packaging fragment

# pam fragment

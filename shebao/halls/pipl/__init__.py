"""个人信息导出 (PIPL): everything the system holds on one person, and who saw it."""

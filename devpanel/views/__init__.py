"""The dev panel's pages. Each view takes the request and the site (``site=``), which
wraps it in its login and permission checks (``GenpipeAdminSite.panel_view``)."""

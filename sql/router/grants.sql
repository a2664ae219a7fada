-- Nothing of the router is callable by PUBLIC: superusers administer it, and
-- pg_wallet_router.grant_api(role) lets the bridge's role call the API. PL/Proxy reads the
-- cluster's configuration as the calling role, hence SECURITY DEFINER on plproxy.get_cluster_*
-- (which show the nodes' connection strings to anyone who may call them: keep passwords out of
-- them, in .pgpass or a pooler's auth file, as PL/Proxy's documentation advises).
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA pg_wallet FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA pg_wallet_router FROM PUBLIC;
ALTER FUNCTION plproxy.get_cluster_version(text) SECURITY DEFINER;
ALTER FUNCTION plproxy.get_cluster_partitions(text) SECURITY DEFINER;
ALTER FUNCTION plproxy.get_cluster_config(text) SECURITY DEFINER;

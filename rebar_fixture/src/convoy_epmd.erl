%%% @doc Caravan-style, epmd-less port mapper for the convoy test fixture.
%%%
%%% Start a node with
%%% `-start_epmd false -epmd_module convoy_epmd -pa <ebin>' and no epmd
%%% daemon is contacted or started: every node's distribution port is a
%%% pure function of its own name.
%%%
%%% The rule (shared with the C++ side of convoy): take the part of the
%%% node name before the first `@' (the whole string for a bare name);
%%% its trailing decimal digits, read as a base-10 integer, are the
%%% port. When the name does not end in a digit the port is 4370.
%%%
%%% ```
%%% 'app-4371@h'          -> 4371
%%% 'web2@h'              -> 2
%%% 'a-1-22@h'            -> 22
%%% 'beam1-45001@127.0.0.1' -> 45001
%%% "node007"             -> 7      (leading zeros are ignored)
%%% 'app@h'               -> 4370   (no trailing digits)
%%% "4380"                -> 4380   (all digits)
%%% '@h' / ""             -> 4370   (empty name part)
%%% '''
%%%
%%% No range check is made: a name such as `web99999' maps to 99999 and
%%% the listen (or connect) then fails, exactly as it would in the C++
%%% implementation.
%%%
%%% Callbacks implemented for OTP 25 (see kernel's erl_epmd.erl):
%%% start_link/0, register_node/2,3, listen_port_please/2,
%%% port_please/2,3, address_please/3, names/0,1.
-module(convoy_epmd).

-export([start_link/0,
         register_node/2, register_node/3,
         listen_port_please/2,
         port_please/2, port_please/3,
         address_please/3,
         names/0, names/1,
         port_from_name/1,
         default_port/0]).

-define(DEFAULT_PORT, 4370).
%% Distribution protocol version 6 (OTP 23+), the only one OTP 25 speaks.
-define(DIST_VERSION, 6).

%% @doc No process is needed: net_sup's child spec accepts `ignore'.
-spec start_link() -> ignore.
start_link() ->
    ignore.

%% @doc Nothing to register with. Returns a random 32-bit creation that
%% avoids the legacy values 0..3, like epmd itself does on OTP 23+.
-spec register_node(Name :: atom() | string(), Port :: non_neg_integer()) ->
          {ok, pos_integer()}.
register_node(Name, Port) ->
    register_node(Name, Port, inet_tcp).

-spec register_node(Name :: atom() | string(), Port :: non_neg_integer(),
                    Driver :: atom()) -> {ok, pos_integer()}.
register_node(_Name, _Port, _Driver) ->
    {ok, 3 + rand:uniform(16#FFFFFFFF - 3)}.

%% @doc Port our own node must listen on, derived from its own name.
-spec listen_port_please(Name :: atom() | string(), Host :: term()) ->
          {ok, non_neg_integer()}.
listen_port_please(Name, _Host) ->
    {ok, port_from_name(Name)}.

-spec port_please(Name :: atom() | string(), Host :: term()) ->
          {port, non_neg_integer(), ?DIST_VERSION}.
port_please(Name, Host) ->
    port_please(Name, Host, infinity).

-spec port_please(Name :: atom() | string(), Host :: term(),
                  Timeout :: timeout()) ->
          {port, non_neg_integer(), ?DIST_VERSION}.
port_please(Name, _Host, _Timeout) ->
    {port, port_from_name(Name), ?DIST_VERSION}.

%% @doc Resolve the peer's host and derive its port from its name, so
%% inet_tcp_dist never needs port_please/2.
-spec address_please(Name :: atom() | string(),
                     Host :: atom() | string() | inet:ip_address(),
                     Family :: inet | inet6) ->
          {ok, inet:ip_address(), non_neg_integer(), ?DIST_VERSION}
              | {error, term()}.
address_please(Name, Host, Family) ->
    case inet:getaddr(Host, Family) of
        {ok, Ip} -> {ok, Ip, port_from_name(Name), ?DIST_VERSION};
        {error, _} = Error -> Error
    end.

%% @doc There is no registry to list.
-spec names() -> {error, address}.
names() ->
    {error, address}.

-spec names(Host :: term()) -> {error, address}.
names(_Host) ->
    {error, address}.

-spec default_port() -> pos_integer().
default_port() ->
    ?DEFAULT_PORT.

%% @doc The naming rule, see the module documentation.
%% Accepts a node name or a bare name, as an atom, string or binary.
-spec port_from_name(atom() | string() | binary()) -> non_neg_integer().
port_from_name(Name) when is_atom(Name) ->
    port_from_name(atom_to_list(Name));
port_from_name(Name) when is_binary(Name) ->
    port_from_name(unicode:characters_to_list(Name));
port_from_name(Name) when is_list(Name) ->
    Alive = lists:takewhile(fun(C) -> C =/= $@ end, Name),
    Digits = lists:reverse(
               lists:takewhile(fun(C) -> C >= $0 andalso C =< $9 end,
                               lists:reverse(Alive))),
    case Digits of
        [] -> ?DEFAULT_PORT;
        _ -> list_to_integer(Digits)
    end.

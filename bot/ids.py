"""Every callback, action and block id the app uses, in one place."""

from __future__ import annotations

from typing import Final

COMMAND: Final = "/xenocept"

# Shortcuts (manifest.yml callback_ids)
SHORTCUT_ADD_DESTINATION: Final = "add_email_destination"
SHORTCUT_SEND_TO_EMAIL: Final = "send_to_email"

# Modal callback ids
VIEW_DESTINATION_FORM: Final = "destination_form"
VIEW_SEND_FORM: Final = "send_form"

# Buttons and selects
ACTION_ADD_DESTINATION: Final = "add_destination"
ACTION_TEST_DESTINATION: Final = "test_destination"
ACTION_EDIT_DESTINATION: Final = "edit_destination"
ACTION_REMOVE_DESTINATION: Final = "remove_destination"
ACTION_CONFIRM_REMOVE: Final = "confirm_remove"
ACTION_CANCEL_REMOVE: Final = "cancel_remove"
ACTION_SEND_ONLY_MESSAGE: Final = "send_only_message"
ACTION_PUSH_ADD_DESTINATION: Final = "push_add_destination"
ACTION_LIST_PREVIOUS: Final = "list_previous"  # /xenocept list pages
ACTION_LIST_NEXT: Final = "list_next"
ACTION_PICK_DESTINATION: Final = "pick_destination"  # the send modal's searchable select
ACTION_CHOOSE_PROVIDER: Final = "choose_provider"  # the setup modal's provider select

# Input blocks of the destination form (block_id; the element's action_id is "value", or
# "value.<preset key>" for the fields a provider dictates, so switching provider refills them)
BLOCK_PROVIDER: Final = "dest_provider"
BLOCK_NAME: Final = "dest_name"
BLOCK_HOST: Final = "dest_host"
BLOCK_PORT: Final = "dest_port"
BLOCK_SECURITY: Final = "dest_security"
BLOCK_USERNAME: Final = "dest_username"
BLOCK_PASSWORD: Final = "dest_password"
BLOCK_FROM: Final = "dest_from"
BLOCK_TO: Final = "dest_to"
BLOCK_SCREENSHOT: Final = "dest_screenshot"

# Input blocks of the send form
BLOCK_SEND_DESTINATION: Final = "send_destination"
BLOCK_SEND_SCOPE: Final = "send_scope"
BLOCK_SEND_SUBJECT: Final = "send_subject"
BLOCK_SEND_NOTE: Final = "send_note"
BLOCK_LIST_PAGES: Final = "list_pages"

VALUE: Final = "value"  # action_id of every input element

# The workspace policy modal (admins only)
VIEW_POLICY_FORM: Final = "policy_form"
ACTION_EDIT_POLICY: Final = "edit_policy"  # App Home's button for admins
BLOCK_POLICY_DOMAINS: Final = "policy_domains"
BLOCK_POLICY_PROVIDERS: Final = "policy_providers"
BLOCK_POLICY_FROM: Final = "policy_from"
BLOCK_POLICY_BLOCKED: Final = "policy_blocked"
BLOCK_POLICY_MAX_THREAD: Final = "policy_max_thread"
BLOCK_POLICY_KEEP_DAYS: Final = "policy_keep_days"
BLOCK_POLICY_SHARING: Final = "policy_sharing"
SHARING_ALLOWED: Final = "sharing_allowed"  # the checkbox option's value

# Forwarding without the menu
ACTION_CHANGE_SEND: Final = "change_send"  # a reaction's status: reopen the send modal
ACTION_STOP_FOLLOW: Final = "stop_follow"  # /xenocept following and App Home
ACTION_REVOKE_SHARE_KEY: Final = "revoke_share_key"  # /xenocept keys
ACTION_EMAIL_SHARED: Final = "email_shared_session"  # on a session shared from a desktop
